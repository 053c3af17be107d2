namespace OrleansLlm.Tests.Deploy;

/// <summary>A fenced code block of a Markdown document: its language, text, first line and the heading it is under.</summary>
public sealed record FencedBlock(string Language, string Text, int FirstLine, string Heading)
{
    public bool IsShell => Language is "bash" or "sh" or "shell";

    /// <summary>
    /// The fenced blocks of <paramref name="markdown"/>; with <paramref name="section"/>, only those under that
    /// level-2 heading (until the next one).
    /// </summary>
    public static IReadOnlyList<FencedBlock> Of(string markdown, string? section = null)
    {
        var blocks = new List<FencedBlock>();
        var lines = markdown.Split('\n');
        var heading = "";
        var inSection = section is null;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("## ", StringComparison.Ordinal))
            {
                inSection = section is null || lines[i] == section;
            }

            if (lines[i].StartsWith('#'))
            {
                heading = lines[i].TrimStart('#').Trim();
            }

            if (!lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var language = lines[i][3..].Trim();
            var end = Array.FindIndex(lines, i + 1, l => l.StartsWith("```", StringComparison.Ordinal));
            if (end < 0)
            {
                throw new Xunit.Sdk.XunitException($"line {i + 1}: a code block that is never closed");
            }

            if (inSection)
            {
                blocks.Add(new FencedBlock(language, string.Join('\n', lines[(i + 1)..end]), i + 2, heading));
            }

            i = end;
        }

        return blocks;
    }
}
