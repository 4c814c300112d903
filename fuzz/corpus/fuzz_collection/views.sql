PRAGMA application_id=1396853074; PRAGMA user_version=1;
CREATE TABLE raw(a,b,c);
INSERT INTO raw VALUES('1.png','cat','comic'),('2.png','dog','oil');
CREATE VIEW images AS SELECT rowid AS id, a AS path, b AS class, c AS style, 'train' AS split, 0 AS width, 0 AS height, NULL AS checksum FROM raw;
CREATE TABLE sketches(id INTEGER PRIMARY KEY, class TEXT);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta VALUES('root','$ROOT');
