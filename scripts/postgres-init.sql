-- docker-compose.yml: the audit server's database, next to the trading database the image creates.
CREATE DATABASE audit OWNER daytrader;
