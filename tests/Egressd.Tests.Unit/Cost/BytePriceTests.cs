using Egressd.Shared.Cost;

namespace Egressd.Tests.Cost;

public sealed class BytePriceTests
{
    [Theory]
    [InlineData("0.01/GB", 10_000_000, PriceUnit.Gigabyte)]
    [InlineData("0.045/GiB", 45_000_000, PriceUnit.Gibibyte)]
    [InlineData(" $0.087 / gb ", 87_000_000, PriceUnit.Gigabyte)]
    [InlineData("0.000000001/GB", 1, PriceUnit.Gigabyte)]
    [InlineData("1000/GiB", 1_000_000_000_000, PriceUnit.Gibibyte)]
    [InlineData("free", 0, PriceUnit.Gigabyte)]
    [InlineData("0", 0, PriceUnit.Gigabyte)]
    public void Reads_prices_as_written_on_pricing_pages(string text, long nanoDollars, PriceUnit unit)
    {
        Assert.True(BytePrice.TryParse(text, out var price));
        Assert.Equal(new BytePrice(nanoDollars, unit), price);
    }

    [Theory]
    [InlineData("0.01")]
    [InlineData("0.01/TB")]
    [InlineData("-0.01/GB")]
    [InlineData("0.0000000001/GB")]
    [InlineData("1000.01/GB")]
    [InlineData("1e-2/GB")]
    [InlineData("cheap/GB")]
    [InlineData("")]
    [InlineData(null)]
    public void Refuses_what_is_not_an_exact_price(string? text) => Assert.False(BytePrice.TryParse(text, out _));

    [Fact]
    public void A_gigabyte_and_a_gibibyte_each_cost_their_quoted_price_exactly()
    {
        Assert.Equal(10_000_000, BytePrice.PerGigabyte(0.01m).Of(CostScenario.Gigabyte).NanoDollars);
        Assert.Equal(10_000_000, BytePrice.PerGibibyte(0.01m).Of(CostScenario.Gibibyte).NanoDollars);
        Assert.Equal(0.01m, BytePrice.PerGibibyte(0.01m).Of(CostScenario.Gibibyte).Dollars);
    }

    [Fact]
    public void Single_bytes_add_up_to_the_price_of_their_sum_without_drift()
    {
        // One byte at $0.01/GiB is 0.00000000000931322574615478515625 dollars: no decimal or binary
        // fraction of a cent holds it, and a double summed this often drifts. The scaled integer does not.
        var price = BytePrice.PerGibibyte(0.01m);
        var oneByte = price.Of(1);
        var sum = Money.Zero;
        var floating = 0d;
        const int Additions = 10_000_000;
        for (var i = 0; i < Additions; i++)
        {
            sum += oneByte;
            floating += 0.01 / (1 << 30);
        }

        Assert.Equal(price.Of(Additions), sum);
        Assert.Equal(new Money((Int128)Additions * 10_000_000 * 1_953_125), sum);
        Assert.NotEqual((double)price.Of(Additions).Dollars, floating);
    }

    [Fact]
    public void Amounts_priced_per_GB_and_per_GiB_add_up_exactly()
    {
        var total = BytePrice.PerGigabyte(0.09m).Of(7) + BytePrice.PerGibibyte(0.12m).Of(11);

        // 7 × 0.09 / 10^9 + 11 × 0.12 / 2^30 dollars, over the common denominator 10^9 × 2^30.
        var expected = (Int128)7 * 90_000_000 * (1L << 30) + (Int128)11 * 120_000_000 * 1_000_000_000;
        Assert.Equal(expected * (BytePrice.Scale / (1L << 30)) / 1_000_000_000, total.Scaled);
    }

    [Theory]
    [InlineData(1_000_000_000, 10_000)]
    [InlineData(1_499_999_999, 15_000)]
    [InlineData(49_999, 0)]
    [InlineData(50_000, 1)]
    public void Micro_dollars_round_half_up(long bytes, long microDollars) =>
        Assert.Equal(microDollars, (long)BytePrice.PerGigabyte(0.01m).Of(bytes).MicroDollars);
}
