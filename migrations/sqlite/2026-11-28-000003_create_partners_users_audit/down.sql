DROP TABLE audit;
DROP TABLE users;
DROP TABLE partners;
