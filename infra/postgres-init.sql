-- Run once by the postgres image on an empty data folder: the app's database is POSTGRES_DB (rpl),
-- this adds the Prefect server's.
CREATE DATABASE prefect;
