select count(*) from businesses;
