"""C inner loop of the patient simulator (patient.c) and its cffi module ``_patient``, built at install."""
