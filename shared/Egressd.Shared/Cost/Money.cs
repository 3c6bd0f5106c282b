namespace Egressd.Shared.Cost;

/// <summary>
/// An amount of US dollars, exact. The unit is one nano-dollar divided by
/// <see cref="BytePrice.Scale"/> (2^30 × 5^9), the finest fraction a byte priced per GB or per GiB
/// can cost, so bytes × price is an integer whichever unit the price is quoted in, and any number
/// of amounts add up without rounding: sum the amounts, round once when showing them.
/// </summary>
public readonly record struct Money(Int128 Scaled) : IComparable<Money>
{
    private const long NanoPerDollar = 1_000_000_000;

    public static Money Zero => default;

    /// <summary>The amount in nano-dollars, rounded half up.</summary>
    public Int128 NanoDollars => Round(Scaled, BytePrice.Scale);

    /// <summary>The amount in pico-dollars (the enriched wire's unit), rounded half up.</summary>
    public Int128 PicoDollars => Round(Scaled, BytePrice.Scale / 1000);

    /// <summary>The amount in micro-dollars, rounded half up.</summary>
    public Int128 MicroDollars => Round(Scaled, (Int128)BytePrice.Scale * 1000);

    /// <summary>The amount in dollars to 28 significant digits: for showing, never for adding up.</summary>
    public decimal Dollars
    {
        get
        {
            var nano = Int128.DivRem(Scaled, BytePrice.Scale);
            var whole = Int128.DivRem(nano.Quotient, NanoPerDollar);
            return (decimal)whole.Quotient
                + ((decimal)(long)whole.Remainder / NanoPerDollar)
                + ((decimal)(long)nano.Remainder / BytePrice.Scale / NanoPerDollar);
        }
    }

    public static Money FromNanoDollars(long nanoDollars) => new((Int128)nanoDollars * BytePrice.Scale);

    public static Money FromPicoDollars(long picoDollars) => new((Int128)picoDollars * (BytePrice.Scale / 1000));

    public static Money operator +(Money left, Money right) => new(left.Scaled + right.Scaled);

    public static Money operator -(Money left, Money right) => new(left.Scaled - right.Scaled);

    public static bool operator <(Money left, Money right) => left.Scaled < right.Scaled;

    public static bool operator >(Money left, Money right) => left.Scaled > right.Scaled;

    public static bool operator <=(Money left, Money right) => left.Scaled <= right.Scaled;

    public static bool operator >=(Money left, Money right) => left.Scaled >= right.Scaled;

    public static Money Add(Money left, Money right) => left + right;

    public static Money Subtract(Money left, Money right) => left - right;

    public int CompareTo(Money other) => Scaled.CompareTo(other.Scaled);

    public override string ToString() => $"${Dollars}";

    private static Int128 Round(Int128 value, Int128 unit) =>
        value >= 0 ? (value + (unit / 2)) / unit : -((-value + (unit / 2)) / unit);
}
