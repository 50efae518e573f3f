"""Operations pillar checks."""
