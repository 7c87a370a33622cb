insert into businesses(name) values ('demo');
