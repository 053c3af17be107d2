namespace OrleansLlm.Tests.Worker;

/// <summary>What the controller tests read from a run: where the limit settled, a median, a series as the benchmark report writes it.</summary>
internal static class LimitSeries
{
    /// <summary>The limit held for the most answers.</summary>
    public static int Settled(IEnumerable<int> limits) => limits.GroupBy(l => l).MaxBy(g => g.Count())!.Key;

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>Run-length encodes a series, like the benchmark report: 1,2×3,4.</summary>
    public static IEnumerable<string> Runs(List<int> series)
    {
        for (var i = 0; i < series.Count;)
        {
            var j = i;
            while (j < series.Count && series[j] == series[i])
            {
                j++;
            }

            yield return j - i == 1 ? $"{series[i]}" : $"{series[i]}×{j - i}";
            i = j;
        }
    }
}
