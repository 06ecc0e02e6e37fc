# gunicorn settings (fixture)
