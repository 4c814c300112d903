CREATE TABLE modules(mid int primary key, project_id int, src text, mature_content boolean, license text);
CREATE TABLE crowd_labels(mid int, attribute text, label text, primary key(mid, attribute));
