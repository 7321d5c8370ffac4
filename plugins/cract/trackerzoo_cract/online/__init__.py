"""Online part of CRACT: the discriminator's samples, memory and Gauss-Newton fitting."""
