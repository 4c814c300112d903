PRAGMA application_id=1396853074; PRAGMA user_version=1;
CREATE TABLE images(id INTEGER PRIMARY KEY, path TEXT, class TEXT, style TEXT, split TEXT, width INT, height INT, checksum TEXT);
CREATE TABLE sketches(id INTEGER PRIMARY KEY, class TEXT, source TEXT, key_id TEXT, strokes TEXT, image_path TEXT, split TEXT);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
INSERT INTO images VALUES(1,'1.png','cat','comic','train',20,12,NULL);
