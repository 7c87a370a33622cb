module.exports = {
  development: { client: 'pg', connection: process.env.DATABASE_URL },
  production: { client: 'pg', connection: process.env.PRODUCTION_DATABASE_URL },
};
