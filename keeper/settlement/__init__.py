"""The settlement transaction: netted and routed orders encoded as one ``settle`` call that can
be simulated, signed and sent without being rebuilt (what is simulated is what is sent)."""
