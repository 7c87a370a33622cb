#!/bin/sh
npm install
supabase start
