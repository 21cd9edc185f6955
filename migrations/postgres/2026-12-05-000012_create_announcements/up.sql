-- Service announcements the platform admin publishes: information shown
-- between two instants, or planned maintenance, shown from its publication
-- until the end of the work.
CREATE TABLE announcements (
    id TEXT PRIMARY KEY NOT NULL,
    message TEXT NOT NULL,
    maintenance BOOLEAN NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP NOT NULL,
    published_by TEXT NOT NULL REFERENCES users (id),
    withdrawn_at TIMESTAMP
);
CREATE INDEX announcements_ends ON announcements (ends_at);
