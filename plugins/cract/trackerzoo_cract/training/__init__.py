"""Offline training of CRACT: Siamese RPN, CRAC box regression and identifier (section 3.4)."""
