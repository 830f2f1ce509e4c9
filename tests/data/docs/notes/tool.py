"""Convert temperatures between Celsius and Fahrenheit."""


def to_fahrenheit(celsius: float) -> float:
    """Return the Fahrenheit value of a Celsius temperature."""
    return celsius * 9 / 5 + 32
