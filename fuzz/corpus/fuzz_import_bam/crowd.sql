CREATE TABLE modules(mid int primary key, project_id int, src text, mature_content boolean, license text);
INSERT INTO modules VALUES(1,1,'u',0,'l'),(2,1,'u',0,'l'),(3,1,'u',0,'l'),(4,1,'u',0,'l'),(5,1,'u',0,'l'),(-1,1,'u',0,'l'),(NULL,1,'u',0,'l'),('2',1,'u',0,'l'),(2.5,1,'u',0,'l');
CREATE TABLE crowd_labels(mid int, attribute text, label text, primary key(mid, attribute));
INSERT INTO crowd_labels VALUES(1,'media_comic','positive'),(1,'content_cat','positive'),(2,'media_watercolor','POSITIVE'),(2,'content_cars','positive'),(3,'media_oilpaint','positive'),(3,'content_dog','positive'),(4,'media_comic','positive'),(4,'media_graphite','positive'),(4,'content_bird','positive'),(5,'comic','positive'),(5,'bird','positive'),(1,NULL,'positive'),(2,'content_dog',NULL);
