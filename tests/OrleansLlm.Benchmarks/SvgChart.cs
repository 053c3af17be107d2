using System.Globalization;
using System.Security;
using System.Text;

namespace OrleansLlm.Benchmarks;

/// <summary>
/// A hand-written SVG, no chart library: two panels of grouped bars, one above the other (utilisation, makespan ÷
/// ideal), one group per scenario, one bar per design. The scale scenario's bar is D's goodput; it has no ideal.
/// </summary>
public static class SvgChart
{
    private const int PanelWidth = 820;
    private const int PanelHeight = 250;
    private const int Left = 55;
    private const int Top = 100;
    private const int Gap = 90;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly Dictionary<string, string> Colours = new(StringComparer.Ordinal)
    {
        ["A"] = "#d62728",
        ["B"] = "#ff7f0e",
        ["C"] = "#1f77b4",
        ["D"] = "#2ca02c",
    };

    public static string Render(IReadOnlyList<RunResult> runs, IReadOnlyList<ScaleResult> scales)
    {
        var results = runs.Where(r => r.FixedLimit is null).Concat(scales.Where(s => s.Error is null).Select(s => s.AsRunResult())).ToArray();
        var designs = results.Select(r => r.Design).Distinct().Order(StringComparer.Ordinal).ToArray();
        var scenarios = results.Select(r => r.Scenario).Distinct().ToArray();
        var width = Left + PanelWidth + 20;
        var height = Top + 2 * PanelHeight + Gap + 50;
        var svg = new StringBuilder();
        svg.AppendLine(Inv, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine(Inv, $"""<rect width="{width}" height="{height}" fill="white"/>""");
        svg.AppendLine("""<text x="10" y="22" font-size="16" font-weight="bold">OrleansLlm benchmark: how busy each design keeps the Ollama backends</text>""");

        // Legend.
        for (var i = 0; i < designs.Length; i++)
        {
            var x = Left + i * 90;
            svg.AppendLine(Inv, $"""<rect x="{x}" y="36" width="14" height="14" fill="{Colour(designs[i])}"/><text x="{x + 20}" y="48">design {Escape(designs[i])}</text>""");
        }

        var maxRatio = Math.Max(1.5, results.Where(r => double.IsFinite(r.Ratio)).Select(r => r.Ratio).DefaultIfEmpty(1).Max());
        // At most 8 grid lines, however far the worst design is from the ideal.
        var step = new[] { 0.25, 0.5, 1, 2, 5, 10 }.First(x => maxRatio / x <= 8);
        var ratioTop = Math.Ceiling(maxRatio / step) * step;
        Panel(svg, Top, "backend utilisation (higher is better; scale: goodput)", results, designs, scenarios, r => r.Utilisation, 1.0, v => v.ToString("P0", Inv).Replace(" ", "", StringComparison.Ordinal), ticks: [0, 0.25, 0.5, 0.75, 1.0], reference: null);
        Panel(svg, Top + PanelHeight + Gap, "makespan ÷ ideal (lower is better, 1 = ideal)", results, designs, scenarios, r => r.Ratio, ratioTop, v => v.ToString("0.00", Inv),
            ticks: Enumerable.Range(0, (int)Math.Round(ratioTop / step) + 1).Select(i => i * step).ToArray(), reference: 1.0);
        if (results.Any(r => r.Lost > 0))
        {
            svg.AppendLine(Inv, $"""<text x="{Left}" y="{height - 8}" fill="#b00">! = the run lost items (see the tables)</text>""");
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, int top, string title, IReadOnlyList<RunResult> results, string[] designs, string[] scenarios,
        Func<RunResult, double> value, double max, Func<double, string> format, double[] ticks, double? reference)
    {
        const int x0 = Left;
        var bottom = top + PanelHeight;
        // 8 % headroom above the top tick, so the value labels of the tallest bars stay clear of the title.
        double Y(double v) => bottom - Math.Clamp(v / (max * 1.08), 0, 1) * PanelHeight;

        svg.AppendLine(Inv, $"""<text x="{x0}" y="{top - 22}" font-weight="bold">{Escape(title)}</text>""");
        foreach (var tick in ticks)
        {
            svg.AppendLine(Inv, $"""<line x1="{x0}" y1="{Y(tick):0.#}" x2="{x0 + PanelWidth}" y2="{Y(tick):0.#}" stroke="#ddd"/>""");
            svg.AppendLine(Inv, $"""<text x="{x0 - 6}" y="{Y(tick) + 4:0.#}" text-anchor="end" fill="#555">{Escape(format(tick))}</text>""");
        }

        if (reference is { } r)
        {
            svg.AppendLine(Inv, $"""<line x1="{x0}" y1="{Y(r):0.#}" x2="{x0 + PanelWidth}" y2="{Y(r):0.#}" stroke="#333" stroke-dasharray="5,4"/>""");
        }

        var groupWidth = (double)PanelWidth / Math.Max(1, scenarios.Length);
        var barWidth = groupWidth * 0.8 / Math.Max(1, designs.Length);
        for (var s = 0; s < scenarios.Length; s++)
        {
            var gx = x0 + s * groupWidth + groupWidth * 0.1;
            for (var d = 0; d < designs.Length; d++)
            {
                var run = results.FirstOrDefault(x => x.Scenario == scenarios[s] && x.Design == designs[d]);
                if (run is null || !double.IsFinite(value(run)))
                {
                    continue;
                }

                var v = value(run);
                var bx = gx + d * barWidth;
                var label = format(v) + (run.Lost > 0 ? "!" : "");
                svg.AppendLine(Inv, $"""<rect x="{bx + 2:0.#}" y="{Y(v):0.#}" width="{barWidth - 4:0.#}" height="{bottom - Y(v):0.#}" fill="{Colour(designs[d])}"><title>{Escape($"{scenarios[s]} / {designs[d]}: {label}")}</title></rect>""");
                svg.AppendLine(Inv, $"""<text x="{bx + barWidth / 2:0.#}" y="{Y(v) - 4:0.#}" text-anchor="middle" font-size="9">{Escape(label)}</text>""");
            }

            svg.AppendLine(Inv, $"""<text x="{x0 + s * groupWidth + groupWidth / 2:0.#}" y="{bottom + 18}" text-anchor="middle">{Escape(scenarios[s])}</text>""");
        }

        svg.AppendLine(Inv, $"""<line x1="{x0}" y1="{bottom}" x2="{x0 + PanelWidth}" y2="{bottom}" stroke="#333"/>""");
    }

    private static string Colour(string design) => Colours.GetValueOrDefault(design, "#777");

    private static string Escape(string text) => SecurityElement.Escape(text);
}
