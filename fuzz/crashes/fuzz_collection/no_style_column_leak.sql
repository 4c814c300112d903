PRAGMA application_id=1396853074; PRAGMA user_version=1;
CREATE TABLE images(id INTEGER PRIMARY KEY, path TEXT, class TEXT);
CREATE TABLE sketches(id INTEGER PRIMARY KEY, class TEXT);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
INSERT INTO images VALUES(1,'1.png','cat'),(2,'2.png','dog');
