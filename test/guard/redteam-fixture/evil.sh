#!/bin/sh
supabase db reset --linked
