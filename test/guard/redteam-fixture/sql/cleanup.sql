drop table businesses cascade;
