// gulpfile (fixture)
