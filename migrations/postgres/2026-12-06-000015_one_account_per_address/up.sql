-- One person, one account: the application refuses an address already in
-- use, but two requests at once could both pass that check. A deleted
-- account has no address (NULLs never collide), so its former address is
-- free again.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
