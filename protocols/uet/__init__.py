"""The Ultra Ethernet transport: packet delivery (PDS: RUD, ROD, UUD) and the RCCC pull pacer."""
