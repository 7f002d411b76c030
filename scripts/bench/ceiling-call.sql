-- One BUY-shaped call of scripts/bench/ceiling.sql's reference function, for pgbench -M prepared.
\set user random(1, 1000)
\set price random(100, 10000)
SELECT reference_buy('user' || :user, :client_id || '-' || :scale || '-' || random()::text, (extract(epoch from clock_timestamp()) * 1000)::bigint, :client_id * 100000000 + :user, 'ABC', 1, :price);
