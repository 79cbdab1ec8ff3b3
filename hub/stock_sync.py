"""Stock sync to sales channels."""
