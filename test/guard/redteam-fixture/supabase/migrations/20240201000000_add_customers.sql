create table customers (id bigint generated always as identity primary key, email text);
