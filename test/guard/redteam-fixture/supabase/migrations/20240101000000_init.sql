create table businesses (id bigint generated always as identity primary key, name text not null);
create table orders (id bigint generated always as identity primary key, business_id bigint references businesses(id), total numeric);
