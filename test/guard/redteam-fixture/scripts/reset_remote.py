import subprocess
subprocess.run(["supabase", "db", "reset", "--linked"], check=True)
