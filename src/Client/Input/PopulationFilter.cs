using System.Globalization;

namespace OrleansLlm.Client.Input;

/// <summary>The cities example's filter (<c>orleansllm submit --min-population</c>): the reader itself knows no field.</summary>
public static class PopulationFilter
{
    private const string Field = "population";

    /// <summary>Keeps rows whose <c>population</c> is at least <paramref name="min"/>; rows without a usable one are left out.</summary>
    public static RowFilter AtLeast(double min) => new(Field, "the population filter", text => SkipReason(Parse(text), min));

    private static string? SkipReason(double population, double min) =>
        double.IsNaN(population) ? "without a population"
        : population < min ? $"with a population under {min.ToString("#,0.##", CultureInfo.InvariantCulture)}"
        : null;

    // The real data has empty populations and some with decimals ("1234.5"): both must parse or be skipped, not crash.
    private static double Parse(string? text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : double.NaN;
}
