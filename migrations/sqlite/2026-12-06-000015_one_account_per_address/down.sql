DROP INDEX users_email_unique;
