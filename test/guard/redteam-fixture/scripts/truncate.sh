#!/bin/sh
T=orders
psql "$1" -c "TRUNCATE $T"
