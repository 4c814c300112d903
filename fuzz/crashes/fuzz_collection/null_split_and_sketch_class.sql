PRAGMA application_id=1396853074; PRAGMA user_version=1;
CREATE TABLE images(id INTEGER PRIMARY KEY, path TEXT, class TEXT, style TEXT, split TEXT, width INT, height INT, checksum TEXT);
CREATE TABLE sketches(id INTEGER PRIMARY KEY, class TEXT, source TEXT, key_id TEXT, strokes TEXT, image_path TEXT, split TEXT);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta VALUES('root','$ROOT');
INSERT INTO images VALUES(1,'1.png','cat','comic',NULL,20,12,NULL),(2,'2.png','dog',NULL,'train',12,20,NULL),(3,'2.png','dog','comic','test',12,20,NULL);
INSERT INTO sketches VALUES(1,NULL,'quickdraw','1','[[[0,1],[0,1]]]',NULL,'train'),(2,'cat','quickdraw','2','[[[0,1],[0,1]]]',NULL,NULL);
