-- Values the installation keeps about itself, by name; the first is the
-- master key check (a known constant sealed with the master key), which
-- lets a start with a wrong key fail at once.
CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value {{blob}} NOT NULL
);
