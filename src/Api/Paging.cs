using System.Globalization;

namespace OrleansLlm.Api;

public static class Paging
{
    /// <returns>The <c>limit</c> asked for, or <paramref name="byDefault"/>; null when it is not a number from 1 to <paramref name="max"/>.</returns>
    public static int? Limit(string? value, int byDefault, int max) =>
        string.IsNullOrEmpty(value) ? byDefault
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 && n <= max ? n
        : null;
}
