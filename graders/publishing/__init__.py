"""Publishing: the student notebooks, reference answers and executed copies made from solutions/, and the
site."""
