const { Client } = require('pg');
const c = new Client({ connectionString: process.env.DATABASE_URL });
c.connect().then(() => c.query("insert into businesses(name) values ('demo')")).then(() => c.end());
