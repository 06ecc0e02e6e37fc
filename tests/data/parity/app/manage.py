# manage.py (fixture)
