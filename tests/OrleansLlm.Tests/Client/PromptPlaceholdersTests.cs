using System.Text.Json;

namespace OrleansLlm.Tests.Client;

/// <summary>The one placeholder rule the silo fills prompts by and the client checks files by.</summary>
[Trait("Category", "Unit")]
public sealed class PromptPlaceholdersTests
{
    [Fact]
    public void Fields_AreTheNamedPlaceholders_EachOnce_InOrder_OtherBracesAreText()
    {
        var fields = PromptPlaceholders.Fields("Mayor of {city} ({country})? {city} again; not {1x}, {a b}, {} or {{json}}.");

        Assert.Equal(["city", "country", "json"], fields);
    }

    [Fact]
    public void Find_GivesWhereEachPlaceholderIs()
    {
        var found = PromptPlaceholders.Find("a {x} b {y}");

        Assert.Equal([new PromptPlaceholder("x", 2, 3), new PromptPlaceholder("y", 8, 3)], found);
    }

    [Theory]
    [InlineData("\"Paris\"", "Paris")]
    [InlineData("2148000", "2148000")]
    [InlineData("1.5e3", "1.5e3")]
    [InlineData("true", "true")]
    [InlineData("\"\"", "")]
    [InlineData("null", null)]
    [InlineData("{\"a\":1}", null)]
    [InlineData("[1]", null)]
    public void TextOf_IsWhatFillsAPlaceholder(string json, string? expected)
    {
        using var doc = JsonDocument.Parse(json);

        Assert.Equal(expected, PromptPlaceholders.TextOf(doc.RootElement));
    }
}
