-- Values the installation keeps about itself, by name; the first is the
-- master key check (a known constant sealed with the master key), which
-- lets a start with a wrong key fail at once.
CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value {{blob}} NOT NULL
);

-- The unread inbox, newest first (ORDER BY id DESC): the list business
-- systems poll. Only the unread inbound messages are in the index, so it
-- stays small however many were read. direction leads, constant as it is,
-- because SQLite's planner (without ANALYZE statistics) otherwise rates
-- messages_direction higher.
CREATE INDEX messages_unread ON messages (direction, id) WHERE direction = 'in' AND read_at IS NULL;
