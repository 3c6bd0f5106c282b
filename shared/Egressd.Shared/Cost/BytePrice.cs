using System.Globalization;

namespace Egressd.Shared.Cost;

/// <summary>
/// A list price for moving data, as the provider quotes it: whole nano-dollars per GB or per GiB.
/// <see cref="Of"/> prices a byte count exactly (see <see cref="Money"/>); no binary floating point
/// is involved anywhere, so billions of additions never drift.
/// </summary>
public readonly record struct BytePrice(long NanoDollarsPerUnit, PriceUnit Unit)
{
    /// <summary>2^30 × 5^9: divisible by both 10^9 (a GB) and 2^30 (a GiB).</summary>
    public const long Scale = 2_097_152_000_000_000;

    /// <summary>The highest price a setting may name, per GB or GiB: far above any list price, far below overflow.</summary>
    public const decimal MaxDollarsPerUnit = 1000m;

    public static BytePrice Free => default;

    public bool IsFree => NanoDollarsPerUnit == 0;

    /// <summary>Nano-dollars per byte, times <see cref="Scale"/>: the money one byte costs.</summary>
    public long PerByte => NanoDollarsPerUnit * (Unit == PriceUnit.Gibibyte ? 1_953_125 : 2_097_152);

    public static BytePrice PerGigabyte(decimal dollars) => new(ToNano(dollars), PriceUnit.Gigabyte);

    public static BytePrice PerGibibyte(decimal dollars) => new(ToNano(dollars), PriceUnit.Gibibyte);

    /// <summary>What <paramref name="bytes"/> cost at this price, exactly.</summary>
    public Money Of(long bytes) => new((Int128)bytes * PerByte);

    /// <summary>
    /// Reads a price written as <c>0.01/GB</c> or <c>0.045/GiB</c> (dollars, at most nine decimals, at
    /// most <see cref="MaxDollarsPerUnit"/>), or <c>0</c> / <c>free</c>.
    /// </summary>
    public static bool TryParse(string? text, out BytePrice price)
    {
        price = Free;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        if (string.Equals(text, "free", StringComparison.OrdinalIgnoreCase) || text == "0")
        {
            return true;
        }

        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            return false;
        }

        var unitText = text[(slash + 1)..].Trim();
        PriceUnit unit;
        if (string.Equals(unitText, "GB", StringComparison.OrdinalIgnoreCase))
        {
            unit = PriceUnit.Gigabyte;
        }
        else if (string.Equals(unitText, "GiB", StringComparison.OrdinalIgnoreCase))
        {
            unit = PriceUnit.Gibibyte;
        }
        else
        {
            return false;
        }

        var amount = text[..slash].Trim().TrimStart('$');
        if (!decimal.TryParse(amount, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var dollars)
            || dollars > MaxDollarsPerUnit
            || decimal.Round(dollars, 9) != dollars)
        {
            return false;
        }

        price = new BytePrice(ToNano(dollars), unit);
        return true;
    }

    public override string ToString() =>
        IsFree ? "free" : $"{(NanoDollarsPerUnit / 1_000_000_000m).ToString(CultureInfo.InvariantCulture)}/{(Unit == PriceUnit.Gibibyte ? "GiB" : "GB")}";

    private static long ToNano(decimal dollars) => decimal.ToInt64(dollars * 1_000_000_000m);
}
