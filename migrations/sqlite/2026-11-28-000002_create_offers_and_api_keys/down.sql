DROP TABLE api_keys;
DROP TABLE offer_feed;
DROP TABLE offers;
