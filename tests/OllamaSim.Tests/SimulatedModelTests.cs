namespace OllamaSim.Tests;

public sealed class SimulatedModelTests
{
    [Fact]
    public void Reference_prompt_takes_about_twelve_and_a_half_seconds_alone()
    {
        Assert.Equal(12.5, SimulatedModel.ReferenceSoloSeconds, precision: 6);
        Assert.Equal(36, SimulatedModel.PromptTokens(SimulatedModel.ReferencePrompt));
    }

    [Fact]
    public void Answers_are_stable_across_processes()
    {
        // SHA-256 based, so this literal holds on every machine and run (string.GetHashCode would not).
        Assert.Equal("Anders Castillo", SimulatedModel.AnswerFor(SimulatedModel.ReferencePrompt));
    }

    [Fact]
    public void The_same_city_gets_the_same_mayor_however_the_question_is_worded()
    {
        var a = SimulatedModel.AnswerFor("Who is the mayor of Paris? Just give the name.");
        var b = SimulatedModel.AnswerFor("who is the MAYOR of paris?");

        Assert.Equal(SimulatedModel.AnswerFor(SimulatedModel.ReferencePrompt), a);
        Assert.Equal(a, b);
        Assert.Equal("Paris", SimulatedModel.CityIn(SimulatedModel.ReferencePrompt));
    }

    [Fact]
    public void About_fifteen_percent_of_cities_get_no_answer_and_the_rest_a_two_part_name()
    {
        var answers = Enumerable.Range(0, 2000).Select(i => SimulatedModel.AnswerFor($"Who is the mayor of City{i}?")).ToList();

        var unknownShare = answers.Count(a => a.Length == 0) / (double)answers.Count;
        Assert.InRange(unknownShare, 0.12, 0.18);
        Assert.All(answers.Where(a => a.Length > 0), a => Assert.Equal(2, a.Split(' ').Length));
        Assert.True(answers.Distinct().Count() > 300, "names vary between cities");
    }

    [Fact]
    public void Other_prompts_get_a_deterministic_sentence()
    {
        var answer = SimulatedModel.AnswerFor("Why is the sky blue?");

        Assert.Equal(answer, SimulatedModel.AnswerFor("Why is the sky blue?"));
        Assert.NotEqual(answer, SimulatedModel.AnswerFor("Why is grass green?"));
        Assert.EndsWith(".", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_counts_follow_four_characters_a_token()
    {
        Assert.Equal(1, SimulatedModel.OutputTokens(""));                 // only end-of-sequence
        Assert.Equal(5, SimulatedModel.OutputTokens("Anders Castillo"));  // 15 chars → 4 + 1
        Assert.Equal(SimulatedModel.TemplateTokens + 3, SimulatedModel.PromptTokens("123456789"));
        Assert.Equal("Anders Castillo", string.Concat(SimulatedModel.TokenPieces("Anders Castillo")));
        Assert.Equal(4, SimulatedModel.TokenPieces("Anders Castillo").Count);
    }
}
