/** Demo seed (plain SQL kept in one reviewable place). */
export const DEMO_SEED_SQL = `
-- Deterministic seed: 300 businesses, 3,000 customers, 6,000 orders.
INSERT INTO businesses (name, plan, owner_email, created_at)
SELECT 'Business ' || g,
       (ARRAY['starter', 'pro', 'enterprise'])[1 + g % 3],
       'owner' || g || '@business' || g || '.example',
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 day' / 3
FROM generate_series(1, 300) AS g;

INSERT INTO customers (business_id, name, email, phone, created_at)
SELECT 1 + (g - 1) % 300,
       'Customer ' || g,
       'customer' || g || '@mail.example',
       '+1-555-' || lpad((g % 10000)::text, 4, '0'),
       timestamptz '2026-02-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, 3000) AS g;

INSERT INTO orders (business_id, customer_id, total, created_at)
SELECT c.business_id, c.id, round((5 + (g * 37) % 500)::numeric + 0.99, 2),
       timestamptz '2026-03-01 00:00:00+00' + g * interval '10 minutes'
FROM generate_series(1, 6000) AS g
JOIN customers c ON c.id = 1 + (g - 1) % 3000;
`;
