/** The environment the guard tests run commands with: the fixture project's URLs. */
export const PROD_URL = 'postgresql://postgres:s3cret@db.qwikkerprod123456789.supabase.co:5432/postgres';
export const STAGING_URL = 'postgresql://postgres:s3cret@db.stagingref1234567890.supabase.co:5432/postgres';
export const LOCAL_URL = 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';
export const fixtureEnv: Record<string, string> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/nonexistent-home',
  PRODUCTION_DATABASE_URL: PROD_URL,
  PROD_URL,
  STAGING_DATABASE_URL: STAGING_URL,
  LOCAL_DATABASE_URL: LOCAL_URL,
};
