package io.gpud.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Schemas as clients send them: OpenAI strict, zod-to-json-schema, the AI SDK, hand-written. */
final class Schemas {
    private Schemas() {
    }

    record Named(String name, JsonNode schema) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final List<Named> ALL = list(
            "strict person", """
            {"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
             "tags":{"type":"array","items":{"type":"string"}}},
             "required":["name","age","tags"],"additionalProperties":false}""",
            "zod weather with definitions", """
            {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{
             "city":{"type":"string","description":"the city"},
             "unit":{"type":"string","enum":["celsius","fahrenheit"],"default":"celsius"},
             "forecast":{"type":"array","items":{"$ref":"#/definitions/day"},"minItems":1,"maxItems":3},
             "note":{"anyOf":[{"type":"string","maxLength":20},{"type":"null"}]}},
             "required":["city","unit","forecast","note"],"additionalProperties":false,
             "definitions":{"day":{"type":"object","properties":{"date":{"type":"string","format":"date"},
              "high":{"type":"number","minimum":-50,"maximum":60},"rain":{"type":"boolean"}},
              "required":["date","high","rain"],"additionalProperties":false}}}""",
            "recursive tree with $defs", """
            {"type":"object","properties":{"name":{"type":"string"},
             "children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["name"],
             "$defs":{"node":{"type":"object","properties":{"name":{"type":"string","maxLength":8},
              "children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},
              "required":["name","children"],"additionalProperties":false}}}""",
            "numbers and formats", """
            {"type":"object","properties":{"count":{"type":"integer","minimum":1,"maximum":100},
             "temperature":{"type":"number","minimum":-20.5,"maximum":45.5},
             "below":{"type":"integer","exclusiveMaximum":-3},"big":{"type":"integer","minimum":100000},
             "any":{"type":"number"},"id":{"type":"string","format":"uuid"},
             "when":{"type":"string","format":"date-time"},"at":{"type":"string","format":"time"}},
             "required":["count","temperature","below","big","any","id","when","at"],"additionalProperties":false}""",
            "tuple", """
            {"type":"array","prefixItems":[{"type":"string"},{"type":"integer"},{"type":"boolean"}],
             "items":false,"minItems":3}""",
            "type arrays and lengths", """
            {"type":"object","properties":{"v":{"type":["string","integer","null"]},
             "s":{"type":"string","minLength":3,"maxLength":5}},"required":["v","s"]}""",
            "disjoint oneOf", """
            {"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number"}},
              "required":["kind","r"],"additionalProperties":false},
             {"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"integer"}},
              "required":["kind","side"],"additionalProperties":false}]}""",
            "json_object", null,
            "map of integers", """
            {"type":"object","additionalProperties":{"type":"integer"}}""",
            "optional properties", """
            {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{"type":"boolean"},
             "d":{"type":"null"}},"required":["c"]}""",
            "mixed enum", """
            {"enum":["red",1,12,null,{"x":[1,2]},"r\\u00e9d"]}""",
            "unicode and quoted names", """
            {"type":"object","properties":{"名前":{"type":"string"},"quote\\"d":{"const":"x\\ny"}},
             "required":["名前","quote\\"d"],"additionalProperties":false}""",
            "anything", "{}",
            "array of arrays", """
            {"type":"array","items":{"type":"array","items":{"type":"number"},"maxItems":3},"minItems":2,"maxItems":4}""");

    /**
     * The schemas clients send, copied from the wire (openai, LangChain and the AI SDK as
     * whole {@code response_format} bodies, Ollama's {@code format} as the schema itself).
     */
    static final List<Named> CLIENTS = bodies(
            "openai zodResponseFormat person", """
            {"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":20,"description":"Full name"},"age":{"type":"integer","minimum":0,"maximum":150},"email":{"anyOf":[{"type":"string","format":"email","pattern":"^(?:[A-Za-z0-9_'+\\\\-]+\\\\.)*[A-Za-z0-9_'+\\\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\\\-]*\\\\.)+[A-Za-z]{2,}$"},{"type":"null"}]},"tags":{"maxItems":3,"type":"array","items":{"type":"string"}},"home":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"^\\\\d{5}$"}},"required":["street","zip"],"additionalProperties":false},"work":{"anyOf":[{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"^\\\\d{5}$"}},"required":["street","zip"],"additionalProperties":false},{"type":"null"}]},"kind":{"anyOf":[{"type":"string","const":"a"},{"type":"string","const":"b"}]}},"required":["name","age","email","tags","home","work","kind"],"additionalProperties":false,"description":"A person"}}}""",
            "langchain withStructuredOutput person", """
            {"type":"json_schema","json_schema":{"description":"A person","name":"person","strict":true,"schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":20,"description":"Full name","title":"person"},"age":{"type":"integer","minimum":0,"maximum":150,"title":"person"},"email":{"type":"string","format":"email","pattern":"^(?:[A-Za-z0-9_'+\\\\-]+\\\\.)*[A-Za-z0-9_'+\\\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\\\-]*\\\\.)+[A-Za-z]{2,}$","title":"person"},"tags":{"maxItems":3,"type":"array","items":{"type":"string","title":"person"},"title":"person"},"home":{"type":"object","properties":{"street":{"$ref":"#/$defs/__schema0"},"zip":{"$ref":"#/$defs/__schema1"}},"required":["street","zip"],"additionalProperties":false,"title":"person"},"work":{"anyOf":[{"type":"object","properties":{"street":{"$ref":"#/$defs/__schema0"},"zip":{"$ref":"#/$defs/__schema1"}},"required":["street","zip"],"additionalProperties":false,"title":"person"},{"type":"null"}],"title":"person"},"kind":{"anyOf":[{"type":"string","const":"a","title":"person"},{"type":"string","const":"b","title":"person"}],"title":"person"},"scores":{"type":"object","propertyNames":{"type":"string","title":"person"},"additionalProperties":{"type":"number","title":"person"},"title":"person"}},"required":["name","age","tags","home","work","kind"],"additionalProperties":false,"description":"A person","title":"person","$defs":{"__schema0":{"type":"string","title":"person"},"__schema1":{"type":"string","pattern":"^\\\\d{5}$","title":"person"}}}}}""",
            "ai sdk generateObject person", """
            {"type":"json_schema","json_schema":{"schema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":20,"description":"Full name"},"age":{"type":"integer","minimum":0,"maximum":150},"email":{"type":"string","format":"email","pattern":"^(?:[A-Za-z0-9_'+\\\\-]+\\\\.)*[A-Za-z0-9_'+\\\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\\\-]*\\\\.)+[A-Za-z]{2,}$"},"tags":{"maxItems":3,"type":"array","items":{"type":"string"}},"home":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"^\\\\d{5}$"}},"required":["street","zip"],"additionalProperties":false},"work":{"anyOf":[{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"^\\\\d{5}$"}},"required":["street","zip"],"additionalProperties":false},{"type":"null"}]},"kind":{"anyOf":[{"type":"string","const":"a"},{"type":"string","const":"b"}]},"scores":{"type":"object","propertyNames":{"type":"string"},"additionalProperties":{"type":"number"}}},"required":["name","age","tags","home","work","kind"],"description":"A person","additionalProperties":false},"strict":true,"name":"response"}}""",
            "ollama format z.toJSONSchema person", """
            {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":20,"description":"Full name"},"age":{"type":"integer","minimum":0,"maximum":150},"email":{"type":"string","format":"email","pattern":"^(?:[A-Za-z0-9_'+\\\\-]+\\\\.)*[A-Za-z0-9_'+\\\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\\\-]*\\\\.)+[A-Za-z]{2,}$"},"tags":{"maxItems":3,"type":"array","items":{"type":"string"}},"home":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"^\\\\d{5}$"}},"required":["street","zip"],"additionalProperties":false},"work":{"anyOf":[{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"^\\\\d{5}$"}},"required":["street","zip"],"additionalProperties":false},{"type":"null"}]},"kind":{"anyOf":[{"type":"string","const":"a"},{"type":"string","const":"b"}]},"scores":{"type":"object","propertyNames":{"type":"string"},"additionalProperties":{"type":"number"}}},"required":["name","age","tags","home","work","kind"],"additionalProperties":false,"description":"A person"}""",
            "ollama format zodToJsonSchema person", """
            {"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":20},"home":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"^\\\\d{5}$"}},"required":["street","zip"],"additionalProperties":false},"work":{"anyOf":[{"$ref":"#/properties/home"},{"type":"null"}]},"email":{"type":"string","format":"email"}},"required":["name","home","work"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}""");

    /** Each body's schema: {@code response_format.json_schema.schema}, or the body itself. */
    private static List<Named> bodies(String... pairs) {
        return list(pairs).stream().map(n -> new Named(n.name(), n.schema().has("json_schema")
                ? n.schema().get("json_schema").get("schema") : n.schema())).toList();
    }

    private static List<Named> list(String... pairs) {
        var named = new ArrayList<Named>();
        for (int i = 0; i < pairs.length; i += 2) {
            named.add(new Named(pairs[i], pairs[i + 1] == null ? null : SchemaCheck.json(pairs[i + 1])));
        }
        return List.copyOf(named);
    }
}
