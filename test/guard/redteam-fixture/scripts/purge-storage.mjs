import { createClient } from '@supabase/supabase-js';
const supabase = createClient(process.env.SUPABASE_URL, process.env.SUPABASE_SERVICE_ROLE_KEY);
await supabase.from('orders').delete().neq('id', 0);
const { data } = await supabase.storage.from('avatars').list();
await supabase.storage.from('avatars').remove(data.map((f) => f.name));
